/** The page at `/` when no clinic app build is there to serve: what is running and where the API is. */
export function landingPage(
  schemaName: string,
  tenantSchemas: Readonly<Record<string, { name: string }>> = {},
): string {
  const others = Object.entries(tenantSchemas)
    .map(([tenant, schema]) => `, and <strong>${schema.name}</strong> for tenant ${tenant}`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Outpost</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>Outpost sync server</h1>
<p>Serving the <strong>${schemaName}</strong> schema${others}. The API lives under <code>/v1</code>:
<a href="/v1/health">/v1/health</a> answers without signing in; sign in with
<code>POST /v1/auth/login</code> and send the token as <code>Authorization: Bearer &lt;token&gt;</code>.</p>
<p>The wire protocol is described in PROTOCOL.md of the Outpost repository.</p>
</body></html>
`;
}
