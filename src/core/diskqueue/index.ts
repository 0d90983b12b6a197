export { DiskQueue, type DiskQueueFs, type DiskQueueLogLevel, type DiskQueueOptions } from "./diskqueue.ts";
export {
  formatMetaData, metaDataFileName, parseMetaData, readRecordLength, RECORD_HEADER_SIZE, segmentFileName,
  writeRecord, type MetaData,
} from "./format.ts";
