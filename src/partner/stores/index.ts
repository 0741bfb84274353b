/**
 * The partner stores behind the `PartnerStore` contract (../store.ts):
 * in-memory (tests), SQLite (embedded default, one file) and PostgreSQL
 * (several backend instances). See docs/partner-stores.md. Their errors are
 * `StoreError` (../errors.ts).
 */
export { MemoryPartnerStore } from './memory.js';
export { SqlitePartnerStore, SQLITE_SCHEMA, SQLITE_SCHEMA_VERSION } from './sqlite.js';
export type { SqliteStoreOptions, SqliteSynchronous } from './sqlite.js';
export { PostgresPartnerStore, POSTGRES_SCHEMA, POSTGRES_SCHEMA_VERSION } from './postgres.js';
export type { LeaseClock, PostgresStoreOptions } from './postgres.js';
