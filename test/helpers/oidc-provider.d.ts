// The part of oidc-provider 9's API the OAuth test server uses (the package ships no type declarations).
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface ClientCredentialsToken {
    clientId?: string;
    scope?: string;
    readonly isExpired: boolean;
  }

  export class Provider {
    constructor(issuer: string, configuration?: Record<string, unknown>);
    readonly issuer: string;
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    on(event: string, listener: (...args: unknown[]) => void): this;
    readonly ClientCredentials: { find(value: string, options?: { ignoreExpiration?: boolean }): Promise<ClientCredentialsToken | undefined> };
  }
  export default Provider;
}
