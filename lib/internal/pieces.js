'use strict'
// The pipeline of a document parsed in pieces (csv.parse, json.parse): each piece is queued as
// soon as the previous one is parsed, so the worker runs ahead (it is several times faster
// than building) while this thread builds the values of the pieces in order. A piece's result
// is the parsers' packed format (src/kernels/output.rs `Packed`): `done`, or where the next
// piece starts (`next`, `nextUnits`) and what it holds (`kind`).

/**
 * `request(prev)` queues the piece after the packed result `prev` (`undefined`: the first)
 * and returns its promise; `build(packed)` builds one piece's values (a promise). Resolves when
 * the last piece is built; rejects with the first error in document order.
 */
async function pipeline(request, build) {
  const parsed = [] // promises of packed pieces, in document order
  let stop = false
  const piece = (prev) => {
    const p = request(prev)
    parsed.push(p)
    p.then((packed) => {
      if (!stop && !packed.done) piece(packed)
    }, () => {}) // the rejection is seen below, when its turn comes
  }
  piece(undefined)
  try {
    for (let i = 0; ; i++) {
      // Piece i is queued by the time piece i - 1 has settled (that callback ran first).
      const packed = await parsed[i]
      await build(packed)
      if (packed.done) return
    }
  } finally {
    stop = true
  }
}

module.exports = { pipeline }
