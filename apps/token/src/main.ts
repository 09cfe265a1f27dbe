#!/usr/bin/env node
import { runMain } from '@hummingbird/service';
import { tokenConfig } from './config.js';
import { start } from './index.js';

await runMain({ definition: tokenConfig, start: (config, logger) => start(config, logger), logLevel: (config) => config.log.level });
