'use strict'
// `require('pool/bullmq')`: a WorkerPool as BullMQ's processor; the code is in lib/bullmq.js.
module.exports = require('./lib/bullmq.js')
