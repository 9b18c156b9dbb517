// Command sealstore is the sealstore service and its tools.
//
//	sealstore serve [--config FILE] [--data-dir DIR] [--listen ADDR] [--http-listen ADDR] [--tls-cert F --tls-key F]
//	                [--store dynamodb --kms-key-id ARN [--region R] [--dynamodb-endpoint URL] [--kms-endpoint URL] [--table-prefix P]]
//	sealstore init [the same store flags]
//	sealstore tokens create --scope SCOPES [--name NAME] [--data-dir DIR]
//	sealstore tokens list | revoke NAME [--data-dir DIR]
//	sealstore audit verify [--records] [--checkpoints FILE] [the same store flags]
//	sealstore keys status|rotate|rewrap|retire|schedule|shred COLLECTION [flags]  (against a running server)
//	sealstore import COLLECTION --source-kms-key-id ARN | --source-table T --map REC=SRC,... [flags]  (against a running server)
//	sealstore collections reader-config COLLECTION [--lang go|java|dotnet|rust|json]  (against a running server)
//	sealstore conformance run [--keys KEYS.json] MANIFEST.json...
//	sealstore conformance write [--keys KEYS.json] [--config CONFIG.json] [--suite 0x6700|0x6701] RECORDS.json
//	sealstore version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		return serveCmd(ctx, args[1:], stdout, stderr)
	case "init":
		return initCmd(ctx, args[1:], stdout, stderr)
	case "tokens":
		return tokensCmd(ctx, args[1:], stdout, stderr)
	case "audit":
		return auditCmd(ctx, args[1:], stdout, stderr)
	case "keys":
		return keysCmd(ctx, args[1:], stdout, stderr)
	case "import":
		return importCmd(ctx, args[1:], stdout, stderr)
	case "collections":
		return collectionsCmd(ctx, args[1:], stdout, stderr)
	case "conformance":
		return conformanceCmd(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		return versionCmd(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "sealstore: unknown command %q\n%s", args[0], usage)
	return exitUsage
}

const usage = `usage:
  sealstore serve [--config FILE] [--data-dir DIR] [--listen ADDR] [--http-listen ADDR] [--tls-cert FILE --tls-key FILE]
                  [--key-cache-ttl D] [--key-cache-size N] [STORE FLAGS]
      run the HTTPS service, by default on the embedded store (data
      directory ./sealstore-data, address 127.0.0.1:8443); SIGHUP reloads
      the certificate and tokens, SIGTERM drains in-flight requests
  sealstore init [--config FILE] [STORE FLAGS]
      create the tables, key store and first branch key (idempotent; waits
      until DynamoDB tables are active) and print a bootstrap admin token
      the first time
  sealstore tokens create --scope COLLECTION:read|write|admin[,...] (or *:metrics) [--name NAME] [STORE FLAGS]
      create a token (printed alone on stdout, stored only as its SHA-256)
  sealstore tokens list [STORE FLAGS]
  sealstore tokens revoke NAME [STORE FLAGS]
      on the embedded store, in the data directory while no server holds
      it; while one does, through its /v1/tokens API with the admin token
      in SEALSTORE_TOKEN ([--addr URL] [--ca FILE | --fingerprint HEX], or
      SEALSTORE_ADDR, SEALSTORE_CA, SEALSTORE_FINGERPRINT; by default the
      data directory's certificate is trusted); on DynamoDB, beside servers
  sealstore audit verify [--records] [--checkpoints FILE] [--config FILE] [STORE FLAGS]
      walk every chain of the audit trail, check each entry's HMAC and
      link, and name the first broken entry of each chain (exit 1);
      --records and --checkpoints FILE also compare the stored records and
      a sink's checkpoints; while a server holds the embedded data
      directory, verifies in that server (SEALSTORE_TOKEN with *:admin)
  sealstore keys status|rotate|rewrap|retire|schedule|shred COLLECTION [FLAGS]
      the key lifecycle of a collection, through a running server
      (SEALSTORE_ADDR, SEALSTORE_TOKEN, --ca or --fingerprint), or on
      DynamoDB + KMS standalone (--standalone and the store flags);
      'sealstore keys help' lists the commands and their flags
  sealstore import COLLECTION [--source-kms-key-id ARN | --map REC=SRC,...] [FLAGS]
      import a DynamoDB table (the reference's secure_items, or a plaintext
      table) through a running server, resumably, with a count pass, a
      verify pass and optionally --delete-source; 'sealstore import help'
  sealstore collections reader-config COLLECTION [--lang go|java|dotnet|rust|json]
      print the table configuration an official DB-ESDK client (or package
      ddbenc) needs to read the collection, through a running server
  sealstore conformance run [--keys KEYS.json] MANIFEST.json...
      decrypt DB-ESDK decrypt manifests (or iotest.json DecryptTests);
      prints one line per failure and "N passed, N failed, N skipped";
      exit 1 on any failure, 2 on unusable input
  sealstore conformance write [--keys KEYS.json] [--config CONFIG.json] [--suite 0x6700|0x6701] RECORDS.json
      encrypt records with the hierarchical keyring on static-branch-key-1
      and print a decrypt manifest that other implementations can check
  sealstore version (or --version)
      print the version and the VCS revision the binary was built from

STORE FLAGS (each also a SEALSTORE_* variable, e.g. SEALSTORE_KMS_KEY_ID,
or a line of the --config file; flags win over variables, variables over
the file):
  --data-dir DIR              embedded store and self-signed certificate
  --store bolt|dynamodb       bolt (default, embedded) or DynamoDB + KMS
  --kms-key-id ARN            KMS key that wraps branch keys (dynamodb)
  --region REGION             AWS region (default: AWS_REGION etc.)
  --dynamodb-endpoint URL     https://, or http:// to a loopback address
  --kms-endpoint URL          https://, or http:// to a loopback address
  --table-prefix PREFIX       prefix of the DynamoDB tables sealstore owns
`
