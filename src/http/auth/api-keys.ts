// API keys with scopes (auth.apiKeys). A key is presented as "Authorization: Bearer <key>" or "X-API-Key: <key>";
// OphGate keeps only its SHA-256, so the configuration holds no secret. No key, or one OphGate does not know:
// 401 with WWW-Authenticate. A known key without the scope the route needs: 403 naming the scope.
//
// Only routes that change what a clinician answers for (sign-off) require a key today; every other route will
// take `requireScope` the same way when OAuth2 scopes arrive (the README lists the plan).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { ApiScope, Config } from '../../config/schema.js';

export type ApiKeyConfig = Config['auth']['apiKeys'][number];

/** Who called: set on res.locals.principal by requireScope. */
export interface Principal {
  keyName: string;
  scopes: ApiScope[];
  practitioner?: ApiKeyConfig['practitioner'];
}

function presentedKey(req: Request): string | undefined {
  const header = req.get('authorization');
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (m) return m[1];
  const x = req.get('x-api-key')?.trim();
  return x || undefined;
}

/** The configured key whose SHA-256 equals the presented key's, compared in constant time. */
export function findKey(keys: readonly ApiKeyConfig[], presented: string): ApiKeyConfig | undefined {
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  let found: ApiKeyConfig | undefined;
  for (const k of keys) {
    // Every key is compared, so the time taken does not tell which one matched.
    if (timingSafeEqual(digest, Buffer.from(k.sha256, 'hex')) && !found) found = k;
  }
  return found;
}

export function requireScope(keys: readonly ApiKeyConfig[], scope: ApiScope): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const presented = presentedKey(req);
    if (!presented) {
      res.set('WWW-Authenticate', `Bearer realm="ophgate", scope="${scope}"`);
      return void res.status(401).json({ error: `an API key with the scope ${scope} is required (Authorization: Bearer <key> or X-API-Key)` });
    }
    const key = findKey(keys, presented);
    if (!key) {
      res.set('WWW-Authenticate', `Bearer realm="ophgate", error="invalid_token", scope="${scope}"`);
      return void res.status(401).json({ error: 'the API key is not known to this gateway' });
    }
    if (!key.scopes.includes(scope)) {
      res.set('WWW-Authenticate', `Bearer realm="ophgate", error="insufficient_scope", scope="${scope}"`);
      return void res.status(403).json({ error: `the API key "${key.name}" lacks the scope ${scope}` });
    }
    const principal: Principal = { keyName: key.name, scopes: key.scopes, ...(key.practitioner ? { practitioner: key.practitioner } : {}) };
    res.locals.principal = principal;
    next();
  };
}
