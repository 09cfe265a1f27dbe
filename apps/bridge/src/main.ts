#!/usr/bin/env node
import { runMain } from '@hummingbird/service';
import { bridgeConfig } from './config.js';
import { start } from './index.js';

await runMain({ definition: bridgeConfig, start: (config, logger) => start(config, logger), logLevel: (config) => config.log.level });
