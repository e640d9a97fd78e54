'use strict'
// The task functions every JS pool runs (piscina and tinypool load this file directly and pick a
// function by name; workerpool.js and poolifier.js wrap it in their own worker APIs). Heavy
// packages are required lazily so a worker only loads what its task needs.
const { createHash } = require('node:crypto')

function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2)
}

module.exports = {
  echo: (x) => x,
  fib,
  // The buffer arrives transferred (not copied); the digest goes back as a copy (32 bytes).
  sha256: (data) => createHash('sha256').update(data).digest(),
  bcryptjs: ({ password, cost }) => require('bcryptjs').hashSync(password, cost),
  // The text is cloned in, the rows are cloned back: what a user of papaparse in a worker pays.
  papaparse: (text) => require('papaparse').parse(text, { delimiter: ',' }).data,
  jsonParse: (text) => JSON.parse(text),
}
