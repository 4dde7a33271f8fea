import { definePlugin } from '@ft/sdk';
import { datadogLogs } from './sinks/datadog.js';
import { elasticsearch } from './sinks/elasticsearch.js';
import { file } from './sinks/file.js';
import { kafka } from './sinks/kafka.js';
import { misp } from './sinks/misp.js';
import { sentinel } from './sinks/sentinel.js';
import { splunkHec } from './sinks/splunk-hec.js';
import { syslog } from './sinks/syslog.js';

// Every sink ft ships (docs/export.md). A third party adds one the same way: ft.exportSink(defineExportSink(...)).
export default definePlugin((ft) => {
  ft.exportSink(splunkHec);
  ft.exportSink(elasticsearch);
  ft.exportSink(sentinel);
  ft.exportSink(datadogLogs);
  ft.exportSink(syslog);
  ft.exportSink(file);
  ft.exportSink(kafka);
  ft.exportSink(misp);
});
