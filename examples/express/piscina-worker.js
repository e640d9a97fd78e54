'use strict'
// piscina worker for `MODE=piscina`: the same synchronous functions `inline` mode runs on the
// event loop (work.js), selected by piscina's `name` option. Binary bodies arrive as a
// Uint8Array (transferred or structured-cloned), which node:crypto and TextDecoder read as is.

const work = require('./work.js')

const asBuffer = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength)

module.exports = {
  sha256: (data) => work.sha256(data),
  hashPassword: work.hashPassword,
  verifyPassword: work.verifyPassword,
  importCsv: (data) => work.importCsv(asBuffer(data)),
  thumbnail: (data) => work.thumbnail(asBuffer(data)),
}
