// ESM entry of `pool/bullmq`: the CommonJS module, re-exported.
import bullmq from './bullmq.js'

export const {
  createProcessor, createWorker, createClient, toBullPriority, encode, decode, errorFromFailedReason, ENVELOPE_VERSION,
} = bullmq
export default bullmq
