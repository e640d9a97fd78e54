'use strict'
// poolifier worker: the shared task functions as named task functions (pool.execute(arg, name)).
const { ThreadWorker } = require('poolifier')
module.exports = new ThreadWorker(require('./tasks'))
