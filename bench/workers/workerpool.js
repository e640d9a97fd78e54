'use strict'
// workerpool worker: the shared task functions, registered by name (pool.exec(name, [arg])).
require('workerpool').worker(require('./tasks'))
