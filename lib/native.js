'use strict'
// The native addon: the generated loader's exports (typed in binding.d.ts) plus the raw
// per-task entry points registered by src/binding/mod.rs (typed in lib/native.d.ts).
module.exports = require('../binding.js')
