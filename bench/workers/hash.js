'use strict'
// piscina worker for bench/kernels.js: one content hash with node:crypto inside the worker
// (the input buffer arrives transferred, not copied).
const { createHash } = require('node:crypto')
module.exports = ({ algorithm, data }) => createHash(algorithm).update(data).digest()
