'use strict'
// piscina worker for benches/overhead.js: the trivial task (same as the pool's 'echo' kernel).
module.exports = (x) => x
