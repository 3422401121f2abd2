/** The PostgreSQL server the tests use: set by the global setup (embedded) or by the caller. */
export function testPostgresUrl(): string {
  const url = process.env.CLIPROXY_TEST_POSTGRES_URL;
  if (!url) throw new Error('CLIPROXY_TEST_POSTGRES_URL is not set: run the tests through vitest (npm test), whose global setup starts PostgreSQL');
  return url;
}
