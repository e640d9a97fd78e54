// ESM entry of `pool/prometheus`: the CommonJS module, re-exported.
import prometheus from './prometheus.js'

export const { registerPoolMetrics } = prometheus
export default prometheus
