package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sealstore/sealstore/internal/awsconf"
	"github.com/sealstore/sealstore/internal/cliclient"
	"github.com/sealstore/sealstore/internal/records"
)

const importUsage = `usage: sealstore import COLLECTION [FLAGS]
  Import a DynamoDB table into COLLECTION, inside the running server, with
  a progress bar: a count pass, the import (never overwriting a record that
  exists in sealstore), a verify pass that reads every record back through
  sealstore and compares it with its source item, and, with --delete-source
  and only after a clean verify, the deletion of the source items. Running
  it again resumes an interrupted import (or follows a running one).

  The reference layout (item_id, sensitive_field, encrypted_key, nonce),
  into the items collection: one KMS Decrypt per source item.
    sealstore import items --source-kms-key-id ARN [--source-table secure_items]
  A plaintext table, into a /v1 collection: every attribute mapped.
    sealstore import customers --source-table T --map id=customer_id,email=email_address,...

  --source-table NAME             the source table (default secure_items, for the reference layout)
  --source-region REGION          its AWS region (default: the server's)
  --source-dynamodb-endpoint URL  https://, or http:// to a loopback address (default: the SDK's)
  --source-kms-endpoint URL       https://, or http:// to a loopback address (default: the SDK's)
  --source-kms-key-id ARN         reference layout: the KMS key its data keys were made under
  --map REC=SRC,...               plaintext table: record attribute = source attribute, for each one
  --max-rate N                    source items (and so KMS calls) per second at most (0: no limit)
  --delete-source                 delete the source items after a clean verify
  --detach                        start the import and return
The server reads the source with its own AWS credentials (the SDK's
default chain). The command reaches the server as 'sealstore keys' does:
  --addr URL            SEALSTORE_ADDR (default https://127.0.0.1:8443)
  SEALSTORE_TOKEN       a token with admin scope on the collection (never a flag)
  --ca FILE             SEALSTORE_CA: a CA certificate to trust
  --fingerprint HEX     SEALSTORE_FINGERPRINT: the server certificate's SHA-256 fingerprint
`

// importFlags are the command line of an import.
type importFlags struct {
	table, region, dynamoEndpoint, kmsEndpoint, kmsKey, mapping *string
	maxRate                                                     *int
	deleteSource, detach                                        *bool
	conn                                                        serverConn
}

func defineImportFlags(fs *flag.FlagSet) importFlags {
	return importFlags{
		table:          fs.String("source-table", "", "the source DynamoDB table (default secure_items without --map)"),
		region:         fs.String("source-region", "", "the source's AWS region (default: the server's)"),
		dynamoEndpoint: fs.String("source-dynamodb-endpoint", "", "the source's DynamoDB endpoint"),
		kmsEndpoint:    fs.String("source-kms-endpoint", "", "the source's KMS endpoint"),
		kmsKey:         fs.String("source-kms-key-id", "", "reference layout: the ARN of the KMS key its data keys were made under"),
		mapping:        fs.String("map", "", "plaintext table: record attribute = source attribute, comma-separated"),
		maxRate:        fs.Int("max-rate", 0, "source items per second at most (0: no limit)"),
		deleteSource:   fs.Bool("delete-source", false, "delete the source items after a clean verify"),
		detach:         fs.Bool("detach", false, "start the import and return"),
		conn:           serverFlags(fs),
	}
}

// request checks the flags and returns the import they ask for.
func (f importFlags) request() (records.ImportRequest, error) {
	r := records.ImportRequest{Source: records.ImportSource{Table: *f.table, Region: *f.region, DynamoDBEndpoint: *f.dynamoEndpoint,
		KMSEndpoint: *f.kmsEndpoint, KMSKeyID: *f.kmsKey}, MaxRate: *f.maxRate, DeleteSource: *f.deleteSource}
	for _, e := range []struct{ flag, url string }{{"source-dynamodb-endpoint", *f.dynamoEndpoint}, {"source-kms-endpoint", *f.kmsEndpoint}} {
		if err := awsconf.CheckEndpoint(e.url); err != nil {
			return r, fmt.Errorf("--%s: %w", e.flag, err)
		}
	}
	if r.MaxRate < 0 || r.MaxRate > records.MaxRewrapRate {
		return r, fmt.Errorf("--max-rate must be 0 (no limit) to %d", records.MaxRewrapRate)
	}
	if *f.mapping == "" {
		if r.Source.Table == "" {
			r.Source.Table = "secure_items"
		}
		if r.Source.KMSKeyID == "" {
			return r, errors.New("--source-kms-key-id ARN is required for a table in the reference layout (or give --map for a plaintext table)")
		}
		return r, nil
	}
	switch {
	case r.Source.Table == "":
		return r, errors.New("--source-table is required with --map")
	case r.Source.KMSKeyID != "" || r.Source.KMSEndpoint != "":
		return r, errors.New("--source-kms-key-id and --source-kms-endpoint apply only to the reference layout, without --map")
	}
	var err error
	r.Map, err = parseMap(*f.mapping)
	return r, err
}

// parseMap parses "rec=src,rec2=src2".
func parseMap(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		target, source, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || target == "" || source == "" {
			return nil, fmt.Errorf("--map: %q is not RECORD_ATTRIBUTE=SOURCE_ATTRIBUTE", pair)
		}
		if _, dup := m[target]; dup {
			return nil, fmt.Errorf("--map: %s is mapped twice", target)
		}
		m[target] = source
	}
	return m, nil
}

// importCmd runs "sealstore import".
func importCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stdout, importUsage)
		return exitOK
	}
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, importUsage) }
	f := defineImportFlags(fs)
	rest, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(rest) != 1 {
		fmt.Fprintf(stderr, "sealstore import: name one collection\n%s", importUsage)
		return exitUsage
	}
	req, err := f.request()
	if err != nil {
		fmt.Fprintf(stderr, "sealstore import: %v\n", err)
		return exitUsage
	}
	cl, err := f.conn.client("")
	if err != nil {
		fmt.Fprintf(stderr, "sealstore import: %v\n", err)
		return exitUsage
	}
	// Ctrl-C stops following; the import goes on in the server.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	imp := importer{api: cliclient.Imports{C: cl}, coll: rest[0], req: req, stdout: stdout, stderr: stderr, tty: isTerminal(stderr)}
	return imp.run(ctx, *f.detach)
}
