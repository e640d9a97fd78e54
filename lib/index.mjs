import pool from './index.js'

export const { WorkerPool, AbortError } = pool
export default pool
