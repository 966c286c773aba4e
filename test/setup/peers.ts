import { execFileSync, spawnSync } from 'node:child_process';

/** Debian packages the tests drive as real peers, keyed by a command each one provides. */
const PEERS: Record<string, string> = {
  dciodvfy: 'dicom3tools',
  storescu: 'dcmtk',
  Orthanc: 'orthanc',
  gdcminfo: 'libgdcm-tools',
  ip: 'iproute2',
};
const EXTRA_PACKAGES = ['orthanc-dicomweb', 'python3-pydicom'];

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function hasPackage(pkg: string): boolean {
  return spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' }).stdout?.includes('install ok installed') ?? false;
}

export function ensureTestPeers(): void {
  const missing = Object.entries(PEERS).filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg);
  missing.push(...EXTRA_PACKAGES.filter((p) => !hasPackage(p)));
  if (missing.length === 0) return;
  const asRoot = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const run = (args: string[]) => execFileSync(asRoot[0] ?? args[0]!, asRoot.length ? [...asRoot.slice(1), ...args] : args.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  console.log(`[test setup] installing Debian test peers: ${missing.join(' ')}`);
  run(['apt-get', 'update', '-qq']);
  run(['apt-get', 'install', '-y', '-qq', ...missing]);
}
