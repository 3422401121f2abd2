/** http://host:port for a host name or address (IPv6 addresses in brackets). */
export function formatUrl(host: string, port: number): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}
