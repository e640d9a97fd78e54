'use strict'
// The four JS worker pools behind one small interface, each configured as a user would for a
// fixed-size pool of `threads` threads, running the task functions in workers/tasks.js:
//   { name, run(task, arg, transferList?) -> Promise, close() -> Promise }
const path = require('node:path')

const WORKERS = path.join(__dirname, '..', 'workers')
const TASKS = path.join(WORKERS, 'tasks.js')
const JS_POOLS = ['piscina', 'tinypool', 'workerpool', 'poolifier']

async function createJsPool(kind, threads) {
  switch (kind) {
    case 'piscina': {
      const { Piscina } = require('piscina')
      const p = new Piscina({ filename: TASKS, minThreads: threads, maxThreads: threads })
      return {
        name: kind,
        run: (task, arg, transferList) => p.run(arg, { name: task, transferList }),
        close: () => p.destroy(),
      }
    }
    case 'tinypool': {
      const { Tinypool } = await import('tinypool') // ESM-only package
      const p = new Tinypool({ filename: TASKS, minThreads: threads, maxThreads: threads })
      return {
        name: kind,
        run: (task, arg, transferList) => p.run(arg, { name: task, transferList }),
        close: () => p.destroy(),
      }
    }
    case 'workerpool': {
      const workerpool = require('workerpool')
      const p = workerpool.pool(path.join(WORKERS, 'workerpool.js'), {
        minWorkers: threads,
        maxWorkers: threads,
        workerType: 'thread',
      })
      return {
        name: kind,
        run: (task, arg, transferList) => p.exec(task, [arg], transferList ? { transfer: transferList } : undefined),
        close: () => p.terminate(),
      }
    }
    case 'poolifier': {
      const { FixedThreadPool } = require('poolifier')
      const p = new FixedThreadPool(threads, path.join(WORKERS, 'poolifier.js'))
      return {
        name: kind,
        run: (task, arg, transferList) => p.execute(arg, task, undefined, transferList),
        close: () => p.destroy(),
      }
    }
    default:
      throw new Error(`unknown JS pool ${kind}`)
  }
}

module.exports = { createJsPool, JS_POOLS, TASKS }
