#!/usr/bin/env node
import cluster from 'node:cluster';
import { configFileFrom, runMain } from '@hummingbird/service';
import { runWorker, startCluster, WORKER_ENV } from './cluster.js';
import { turnConfig } from './config.js';
import { start } from './index.js';

if (cluster.isWorker) {
  // Same argv and environment as the primary, which validated them already.
  const config = turnConfig.loadConfig({ file: configFileFrom(process.argv.slice(2), process.env, turnConfig.fileEnvName), env: process.env });
  await runWorker(config, Number(process.env[WORKER_ENV] ?? '0'));
} else {
  await runMain({
    definition: turnConfig,
    start: (config, logger) => (config.workers > 1 ? startCluster(config, logger) : start(config, logger)),
    logLevel: (config) => config.log.level,
  });
}
