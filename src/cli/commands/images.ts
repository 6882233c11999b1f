import type { Command } from 'commander';
import { buildTestImages } from '../../images/test-images.ts';

export const DEFAULT_IMAGE_DIR = '/var/lib/lifeboat/images';

export function registerImages(program: Command): void {
  const images = program
    .command('images')
    .description("lifeboat's built-in images (busybox, redis), built locally without a registry");
  images
    .command('build')
    .description('build the busybox and redis images as OCI archives (same image ID on every host)')
    .option('--dir <dir>', 'where to write the archives', DEFAULT_IMAGE_DIR)
    .option('--json', 'print the result as JSON')
    .action(async (opts: { dir: string; json?: boolean }) => {
      const built = await buildTestImages(opts.dir);
      if (opts.json) process.stdout.write(JSON.stringify(built, null, 2) + '\n');
      else
        for (const b of built)
          process.stdout.write(`${b.reference}  sha256:${b.imageId.slice(0, 12)}  ${b.path}\n`);
    });
}
