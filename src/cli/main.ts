// The `ophgate` command: serve, import, jobs. Configuration comes from --config FILE and OPHGATE_* variables.
import { Command, Option } from 'commander';
import { loadConfig, ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { runServe } from './serve.js';
import { runImport } from './import.js';
import { runJobsList, runJobsRequeue } from './jobs.js';

function config(opts: { config?: string; dataDir?: string }): Config {
  return loadConfig({ file: opts.config, overrides: opts.dataDir ? { dataDir: opts.dataDir } : {} });
}

const program = new Command()
  .name('ophgate')
  .description('OphGate: receives ophthalmic studies over DICOMweb and DIMSE and runs the fundus AI pipeline')
  .showHelpAfterError();
const configOption = new Option('-c, --config <file>', 'JSON configuration file (OPHGATE_* environment variables override it)');
const dataDirOption = new Option('-d, --data-dir <dir>', 'data directory (overrides dataDir)');

program.command('serve')
  .description('run the gateway: DICOMweb and API over HTTP, DIMSE C-STORE SCP, study assembly and the pipeline')
  .addOption(configOption).addOption(dataDirOption)
  .action(async (opts) => runServe(config(opts)));

program.command('import')
  .description('import DICOM files or folders (recursively) into the store, then settle their studies')
  .argument('<paths...>', 'files or folders')
  .addOption(configOption).addOption(dataDirOption)
  .option('--json', 'print one JSON line per file instead of a progress bar')
  .action(async (paths: string[], opts) => { process.exitCode = await runImport(config(opts), paths, { json: Boolean(opts.json) }); });

const jobs = program.command('jobs').description('inspect and requeue pipeline jobs');
jobs.command('list')
  .addOption(configOption).addOption(dataDirOption)
  .addOption(new Option('-s, --state <state>', 'only jobs in this state').choices(['queued', 'running', 'done', 'dead', 'superseded']))
  .option('--json', 'print JSON')
  .action((opts) => runJobsList(config(opts), opts));
jobs.command('requeue')
  .description('put dead jobs back in the queue at their unfinished stage')
  .argument('[ids...]', 'job ids')
  .option('--all-dead', 'requeue every dead job')
  .addOption(configOption).addOption(dataDirOption)
  .action((ids: string[], opts) => { process.exitCode = runJobsRequeue(config(opts), ids, opts); });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
