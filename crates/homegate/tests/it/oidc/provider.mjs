// A real OpenID Connect provider for homegate's tests: panva/oidc-provider
// with its development login and consent pages (any password is accepted).
//
// usage: node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  claims: { email: ['email', 'email_verified'], profile: ['preferred_username'] },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id, email_verified: true, preferred_username: id.split('@')[0] };
      },
    };
  },
});
provider.proxy = false;
for (const event of ['server_error', 'authorization.error', 'grant.error', 'interaction.error']) {
  provider.on(event, (_ctx, error) => console.error(`${event}: ${error?.stack ?? error}`));
}
provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
