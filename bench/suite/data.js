'use strict'
// Deterministic inputs, generated in each child process (untimed). The CSV and JSON documents are
// the ones bench/csv.js and bench/json.js use, so the numbers relate.
const crypto = require('node:crypto')

const MiB = 1024 * 1024

function lcg(seed = 42) {
  return () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)
}

// `rows` × 10 columns: integers, decimals, quoted fields with commas and "" escapes, quoted
// fields with a line break, and plain text.
function csvText(rows, cols = 10) {
  const rnd = lcg()
  const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta']
  const w = () => words[Math.floor(rnd() * 8)]
  const lines = []
  for (let r = 0; r < rows; r++) {
    const f = []
    for (let c = 0; c < cols; c++) {
      const k = rnd()
      if (k < 0.3) f.push(String(Math.floor(rnd() * 1e6)))
      else if (k < 0.45) f.push((rnd() * 100000).toFixed(4))
      else if (k < 0.55) f.push(`"${words[c % 8]}, ""quoted"" text ${Math.floor(rnd() * 100000)}"`)
      else if (k < 0.6) f.push(`"line one, of ${c}\nline two ${r}"`)
      else f.push(`${w()} ${w()} ${w()} ${w()} ${Math.floor(rnd() * 1e4)}`)
    }
    lines.push(f.join(','))
  }
  return lines.join('\n') + '\n'
}

// An array of `n` records with nested objects, arrays, numbers, booleans, nulls and non-ASCII text.
function jsonText(n) {
  const rnd = lcg()
  const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'théta 😀']
  const out = []
  for (let i = 0; i < n; i++) {
    out.push({
      id: i,
      name: `${words[Math.floor(rnd() * 8)]} ${words[Math.floor(rnd() * 8)]} ${Math.floor(rnd() * 1e6)}`,
      score: rnd() * 1000,
      active: rnd() < 0.5,
      tags: [words[i % 8], words[(i + 3) % 8], 'x'.repeat(Math.floor(rnd() * 10))],
      address: { street: `${Math.floor(rnd() * 9999)} ${words[i % 8]} street`, city: words[(i * 7) % 8], zip: String(Math.floor(rnd() * 1e5)).padStart(5, '0') },
      history: [{ at: 1700000000, value: Math.floor(rnd() * 1e4), note: 'ok' }],
    })
  }
  return JSON.stringify(out)
}

// `n` random buffers of `size` bytes, each on its own ArrayBuffer.
function randomBuffers(n, size = 4 * MiB) {
  return Array.from({ length: n }, () => crypto.randomFillSync(Buffer.allocUnsafeSlow(size)))
}

// The driver and the child both need the documents' sizes: generate each one once per process.
const memo = new Map()
const once = (key, make) => {
  if (!memo.has(key)) memo.set(key, make())
  return memo.get(key)
}

module.exports = {
  MiB,
  csvText: (rows, cols = 10) => once(`csv:${rows}:${cols}`, () => csvText(rows, cols)),
  jsonText: (n) => once(`json:${n}`, () => jsonText(n)),
  randomBuffers,
}
