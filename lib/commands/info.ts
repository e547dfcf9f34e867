// `guplab info`: what the loaded module offers.
import type { Command } from 'commander';
import { GupDevice } from '../device.js';

export function addInfoCommand(program: Command): void {
  program
    .command('info')
    .description('print what the loaded module offers')
    .action(() => {
      const dev = GupDevice.open();
      console.log(JSON.stringify(dev.info(), null, 2));
      dev.close();
    });
}
