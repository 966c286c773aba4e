// PLACEHOLDER, being written: answers 501 until the WADO-RS service lands.
import type { Router } from 'express';
import type { GatewayContext } from '../../gateway-context.js';

export function wadoRoutes(r: Router, _ctx: GatewayContext): void {
  r.all('/studies', (_req, res) => void res.status(501).json({ error: 'WADO-RS not implemented yet' }));
}
