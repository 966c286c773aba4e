// PLACEHOLDER, being written: answers 501 until the STOW-RS service lands.
import type { Router } from 'express';
import type { GatewayContext } from '../../gateway-context.js';

export function stowRoutes(r: Router, _ctx: GatewayContext): void {
  r.all('/studies', (_req, res) => void res.status(501).json({ error: 'STOW-RS not implemented yet' }));
}
