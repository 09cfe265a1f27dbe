#!/usr/bin/env node
import { runMain } from '@hummingbird/service';
import { turnConfig } from './config.js';
import { start } from './index.js';

await runMain({ definition: turnConfig, start, logLevel: (config) => config.log.level });
