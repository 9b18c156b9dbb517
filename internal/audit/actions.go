package audit

// The actions the trail names: the one list. Entries of each are appended
// at the use-case boundary (package audited), and the route table names
// them for refused requests.
const (
	RecordGet      = "record.get"
	RecordPut      = "record.put"
	RecordPatch    = "record.patch"
	RecordDelete   = "record.delete"
	RecordList     = "record.list"
	RecordSearch   = "record.search"
	RecordBatchGet = "record.batchGet" // a batch refused as a whole; each entry is a record.get
	RecordBatchPut = "record.batchPut" // a batch refused as a whole; each entry is a record.put
	RecordRewrap   = "record.rewrap"   // a record encrypted again under the active key version, by the service
	RecordImport   = "record.import"   // a record an import wrote (or found identical); without a record: an import started, resumed or its problems listed

	CollectionPut     = "collection.put"
	CollectionGet     = "collection.get"
	CollectionBeacons = "collection.beacons"
	CollectionReader  = "collection.readerConfig"

	KeysStatus       = "keys.status"
	KeysRotate       = "keys.rotate"
	KeysRetire       = "keys.retire"
	KeysSchedule     = "keys.schedule"
	KeysRewrap       = "keys.rewrap"
	KeysRewrapStatus = "keys.rewrap.status"
	KeysShred        = "keys.shred"

	TokenCreate = "token.create"
	TokenRevoke = "token.revoke"
)

// Actions returns every action, in the order above.
func Actions() []string {
	return []string{
		RecordGet, RecordPut, RecordPatch, RecordDelete, RecordList, RecordSearch, RecordBatchGet, RecordBatchPut, RecordRewrap, RecordImport,
		CollectionPut, CollectionGet, CollectionBeacons, CollectionReader,
		KeysStatus, KeysRotate, KeysRetire, KeysSchedule, KeysRewrap, KeysRewrapStatus, KeysShred,
		TokenCreate, TokenRevoke,
	}
}
