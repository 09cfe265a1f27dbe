#!/usr/bin/env node
import { runMain } from '@hummingbird/service';
import { focusConfig } from './config.js';
import { start } from './index.js';

await runMain({ definition: focusConfig, start, logLevel: (config) => config.log.level });
