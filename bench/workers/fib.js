'use strict'
// piscina worker for bench/overhead.js: CPU-heavy task (naive recursive Fibonacci, like the pool's 'fib').
function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2)
}
module.exports = fib
