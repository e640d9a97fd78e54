'use strict'
// The same work the pool's kernels do, for BullMQ's inline and sandboxed processors: Node's
// crypto for sha256, the native `bcrypt` package for bcrypt. Data is the pool/bullmq job shape.
const crypto = require('node:crypto')
const bcrypt = require('bcrypt')
const { decode, encode } = require('../../lib/internal/envelope.js')

module.exports = async function work(job) {
  const { kernel, input } = decode(job.data)
  if (kernel === 'sha256') return encode(crypto.createHash('sha256').update(input).digest())
  if (kernel === 'bcrypt.hash') return bcrypt.hashSync(input.password, input.cost) // sync: CPU on this thread, like the work it stands for
  throw new Error(`unknown kernel ${kernel}`)
}
