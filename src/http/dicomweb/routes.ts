// DICOMweb (PS3.18) services under /dicomweb: one file per service, see README.md in this folder.
import { Router } from 'express';
import type { GatewayContext } from '../../gateway-context.js';
import { stowRoutes } from './stow-rs.js';
import { qidoRoutes } from './qido-rs.js';
import { wadoRoutes } from './wado-rs.js';

export function dicomwebRouter(ctx: GatewayContext): Router {
  const r = Router();
  stowRoutes(r, ctx);
  qidoRoutes(r, ctx);
  wadoRoutes(r, ctx);
  return r;
}
