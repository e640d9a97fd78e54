'use strict'
// piscina worker for bench/overhead.js: the trivial task (same as the pool's 'echo' kernel).
module.exports = (x) => x
