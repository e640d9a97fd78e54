'use strict'
module.exports = require('./xxhash').xxhashWorkload('xxh3')
