package records

import (
	"context"
	"slices"

	"github.com/sealstore/sealstore/internal/readerconfig"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/materials"
)

// ReaderConfig returns what an official DB-ESDK client needs to read
// collection coll: the item configuration this service uses for it, as
// data. The caller adds the physical table and the key store, which the
// deployment knows. Actions include the key attributes, whose action
// depends on whether any attribute is SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT,
// and the searchable ones (ENCRYPT_AND_SIGN), which the official SDKs
// want listed.
func (s *Service) ReaderConfig(ctx context.Context, coll string) (readerconfig.Config, error) {
	c, err := s.collection(ctx, coll)
	if err != nil {
		return readerconfig.Config{}, err
	}
	rc := readerconfig.Config{Collection: c.info.Name, LogicalTableName: c.cfg.TableName, TableName: c.cfg.TableName,
		PartitionKey: c.cfg.PartitionKey, SortKey: c.cfg.SortKey, Actions: map[string]string{},
		AllowedUnsigned: append([]string{}, c.cfg.AllowedUnsigned...), Suite: readerconfig.SuiteSymSig,
		BranchKeyID: c.branchKeyID, Beacons: []readerconfig.Beacon{}}
	slices.Sort(rc.AllowedUnsigned)
	for name, a := range c.cfg.Actions {
		rc.Actions[name] = a.String()
	}
	if c.cfg.Suite == materials.SuiteECDSA {
		rc.Suite = readerconfig.SuiteECDSA
	}
	for _, name := range sortedKeys(c.info.Schema.Searchable) {
		if _, ok := rc.Actions[name]; !ok { // encrypted, as every attribute the schema does not list
			rc.Actions[name] = item.EncryptAndSign.String()
		}
		rc.Beacons = append(rc.Beacons, readerconfig.Beacon{Name: name, Length: c.info.Schema.Searchable[name], Index: beaconIndex(name)})
	}
	return rc, nil
}
