package readerconfig

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Each renderer writes a fragment of the body of a function in which the
// clients it names exist; the first comment says which.

var goCode = renderer{comment: "//", write: func(b *strings.Builder, c Config) {
	q := strconv.Quote
	actions := map[string]string{EncryptAndSign: "item.EncryptAndSign", SignOnly: "item.SignOnly",
		SignAndBind: "item.SignAndIncludeInEncryptionContext", DoNothing: "item.DoNothing"}
	suite := map[string]string{SuiteSymSig: "materials.SuiteSymSig", SuiteECDSA: "materials.SuiteECDSA"}[c.Suite]
	fmt.Fprintf(b, "// In a function returning an error, with ctx, ddb (*dynamodb.Client) and kmsClient (*kms.Client).\n")
	fmt.Fprintf(b, "root, err := kmsroot.New(kmsClient, %s)\nif err != nil {\n\treturn err\n}\n", q(c.kmsKeyARN()))
	fmt.Fprintf(b, "keys := keystore.New(%s, %s, dynamo.New(ddb, \"\"), root)\n", q(c.KeyStore.Name), q(c.KeyStore.Table))
	fmt.Fprintf(b, "keyring, err := hierarchy.New(%s, keys, hierarchy.NewCache(hierarchy.DefaultTTL, 1000, nil))\nif err != nil {\n\treturn err\n}\n", q(c.BranchKeyID))
	if len(c.Beacons) > 0 {
		fmt.Fprintf(b, "rawBeaconKey, err := keys.BeaconKey(ctx, %s)\nif err != nil {\n\treturn err\n}\n", q(c.BranchKeyID))
		fmt.Fprintf(b, "beaconKey, err := beacon.NewKey(rawBeaconKey.InsecureBytes())\nif err != nil {\n\treturn err\n}\n")
	}
	fmt.Fprintf(b, "client, err := ddbenc.New(ddb, ddbenc.Config{Tables: map[string]ddbenc.TableConfig{\n\t%s: {\n", q(c.TableName))
	fmt.Fprintf(b, "\t\tLogicalTableName: %s,\n\t\tPartitionKey:     %s,\n", q(c.LogicalTableName), q(c.PartitionKey))
	if c.SortKey != "" {
		fmt.Fprintf(b, "\t\tSortKey:          %s,\n", q(c.SortKey))
	}
	fmt.Fprintf(b, "\t\tActions: map[string]item.Action{\n")
	for _, name := range c.attributes() {
		fmt.Fprintf(b, "\t\t\t%s: %s,\n", q(name), actions[c.Actions[name]])
	}
	fmt.Fprintf(b, "\t\t},\n")
	if len(c.AllowedUnsigned) > 0 {
		fmt.Fprintf(b, "\t\tAllowedUnsigned: []string{%s},\n", list(c.AllowedUnsigned, q))
	}
	fmt.Fprintf(b, "\t\tSuite:   %s,\n\t\tKeyring: keyring,\n", suite)
	if len(c.Beacons) > 0 {
		fmt.Fprintf(b, "\t\tSearch: &ddbenc.Search{Key: beaconKey, Beacons: []ddbenc.StandardBeacon{\n")
		for _, bc := range c.Beacons {
			fmt.Fprintf(b, "\t\t\t{Name: %s, Length: %d}, // queried through index %s\n", q(bc.Name), bc.Length, q(bc.Index))
		}
		fmt.Fprintf(b, "\t\t}},\n")
	}
	fmt.Fprintf(b, "\t},\n}})\nif err != nil {\n\treturn err\n}\n")
}}

var javaCode = renderer{comment: "//", write: func(b *strings.Builder, c Config) {
	q := cQuote
	suite := map[string]string{SuiteSymSig: "DBEAlgorithmSuiteId." + SuiteSymSig, SuiteECDSA: "DBEAlgorithmSuiteId." + SuiteECDSA}[c.Suite]
	fmt.Fprintf(b, "// With kmsClient (KmsClient), ddbClient (DynamoDbClient) and matProv (MaterialProviders).\n")
	fmt.Fprintf(b, "KeyStore keyStore = KeyStore.builder().KeyStoreConfig(KeyStoreConfig.builder()\n")
	fmt.Fprintf(b, "        .kmsClient(kmsClient)\n        .ddbClient(ddbClient)\n")
	fmt.Fprintf(b, "        .ddbTableName(%s)\n        .logicalKeyStoreName(%s)\n", q(c.KeyStore.Table), q(c.KeyStore.Name))
	fmt.Fprintf(b, "        .kmsConfiguration(KMSConfiguration.builder().kmsKeyArn(%s).build())\n        .build()).build();\n", q(c.kmsKeyARN()))
	fmt.Fprintf(b, "IKeyring keyring = matProv.CreateAwsKmsHierarchicalKeyring(CreateAwsKmsHierarchicalKeyringInput.builder()\n")
	fmt.Fprintf(b, "        .branchKeyId(%s)\n        .keyStore(keyStore)\n        .ttlSeconds(%dL)\n        .build());\n", q(c.BranchKeyID), CacheTTLSeconds)
	fmt.Fprintf(b, "Map<String, CryptoAction> actions = new HashMap<>();\n")
	for _, name := range c.attributes() {
		fmt.Fprintf(b, "actions.put(%s, CryptoAction.%s);\n", q(name), c.Actions[name])
	}
	if len(c.Beacons) > 0 {
		fmt.Fprintf(b, "List<StandardBeacon> beacons = new ArrayList<>();\n")
		for _, bc := range c.Beacons {
			fmt.Fprintf(b, "beacons.add(StandardBeacon.builder().name(%s).length(%d).build()); // index %s\n", q(bc.Name), bc.Length, q(bc.Index))
		}
		fmt.Fprintf(b, "BeaconVersion beaconVersion = BeaconVersion.builder()\n        .standardBeacons(beacons)\n        .version(1)\n        .keyStore(keyStore)\n")
		fmt.Fprintf(b, "        .keySource(BeaconKeySource.builder().single(SingleKeyStore.builder().keyId(%s).cacheTTL(%d).build()).build())\n        .build();\n", q(c.BranchKeyID), CacheTTLSeconds)
	}
	fmt.Fprintf(b, "Map<String, DynamoDbTableEncryptionConfig> tableConfigs = new HashMap<>();\n")
	fmt.Fprintf(b, "tableConfigs.put(%s, DynamoDbTableEncryptionConfig.builder()\n", q(c.TableName))
	fmt.Fprintf(b, "        .logicalTableName(%s)\n        .partitionKeyName(%s)\n", q(c.LogicalTableName), q(c.PartitionKey))
	if c.SortKey != "" {
		fmt.Fprintf(b, "        .sortKeyName(%s)\n", q(c.SortKey))
	}
	fmt.Fprintf(b, "        .attributeActionsOnEncrypt(actions)\n")
	if len(c.AllowedUnsigned) > 0 {
		fmt.Fprintf(b, "        .allowedUnsignedAttributes(Arrays.asList(%s))\n", list(c.AllowedUnsigned, q))
	}
	fmt.Fprintf(b, "        .algorithmSuiteId(%s)\n        .keyring(keyring)\n", suite)
	if len(c.Beacons) > 0 {
		fmt.Fprintf(b, "        .search(SearchConfig.builder().writeVersion(1).versions(Arrays.asList(beaconVersion)).build())\n")
	}
	fmt.Fprintf(b, "        .build());\n")
}}

var dotnetCode = renderer{comment: "//", write: func(b *strings.Builder, c Config) {
	q := cQuote
	fmt.Fprintf(b, "// With kmsClient (IAmazonKeyManagementService), ddbClient (IAmazonDynamoDB) and matProv (MaterialProviders).\n")
	fmt.Fprintf(b, "var keyStore = new KeyStore(new KeyStoreConfig\n{\n    KmsClient = kmsClient,\n    DdbClient = ddbClient,\n")
	fmt.Fprintf(b, "    DdbTableName = %s,\n    LogicalKeyStoreName = %s,\n", q(c.KeyStore.Table), q(c.KeyStore.Name))
	fmt.Fprintf(b, "    KmsConfiguration = new KMSConfiguration { KmsKeyArn = %s }\n});\n", q(c.kmsKeyARN()))
	fmt.Fprintf(b, "var keyring = matProv.CreateAwsKmsHierarchicalKeyring(new CreateAwsKmsHierarchicalKeyringInput\n{\n")
	fmt.Fprintf(b, "    BranchKeyId = %s,\n    KeyStore = keyStore,\n    TtlSeconds = %dL\n});\n", q(c.BranchKeyID), CacheTTLSeconds)
	fmt.Fprintf(b, "var actions = new Dictionary<string, CryptoAction>\n{\n")
	for _, name := range c.attributes() {
		fmt.Fprintf(b, "    [%s] = CryptoAction.%s,\n", q(name), c.Actions[name])
	}
	fmt.Fprintf(b, "};\n")
	fmt.Fprintf(b, "var tableConfigs = new Dictionary<string, DynamoDbTableEncryptionConfig>\n{\n    [%s] = new DynamoDbTableEncryptionConfig\n    {\n", q(c.TableName))
	fmt.Fprintf(b, "        LogicalTableName = %s,\n        PartitionKeyName = %s,\n", q(c.LogicalTableName), q(c.PartitionKey))
	if c.SortKey != "" {
		fmt.Fprintf(b, "        SortKeyName = %s,\n", q(c.SortKey))
	}
	fmt.Fprintf(b, "        AttributeActionsOnEncrypt = actions,\n")
	if len(c.AllowedUnsigned) > 0 {
		fmt.Fprintf(b, "        AllowedUnsignedAttributes = new List<string> { %s },\n", list(c.AllowedUnsigned, q))
	}
	fmt.Fprintf(b, "        AlgorithmSuiteId = DBEAlgorithmSuiteId.%s,\n        Keyring = keyring,\n", c.Suite)
	if len(c.Beacons) > 0 {
		fmt.Fprintf(b, "        Search = new SearchConfig\n        {\n            WriteVersion = 1,\n            Versions = new List<BeaconVersion>\n            {\n")
		fmt.Fprintf(b, "                new BeaconVersion\n                {\n                    StandardBeacons = new List<StandardBeacon>\n                    {\n")
		for _, bc := range c.Beacons {
			fmt.Fprintf(b, "                        new StandardBeacon { Name = %s, Length = %d }, // index %s\n", q(bc.Name), bc.Length, q(bc.Index))
		}
		fmt.Fprintf(b, "                    },\n                    Version = 1,\n                    KeyStore = keyStore,\n")
		fmt.Fprintf(b, "                    KeySource = new BeaconKeySource { Single = new SingleKeyStore { KeyId = %s, CacheTTL = %d } }\n", q(c.BranchKeyID), CacheTTLSeconds)
		fmt.Fprintf(b, "                }\n            }\n        },\n")
	}
	fmt.Fprintf(b, "    }\n};\n")
}}

var rustCode = renderer{comment: "//", write: func(b *strings.Builder, c Config) {
	q := func(s string) string { return rustQuote(s) + ".to_string()" }
	variant := map[string]string{EncryptAndSign: "EncryptAndSign", SignOnly: "SignOnly", SignAndBind: "SignAndIncludeInEncryptionContext", DoNothing: "DoNothing"}
	suite := map[string]string{SuiteSymSig: "AlgAes256GcmHkdfSha512CommitKeySymsigHmacSha384", SuiteECDSA: "AlgAes256GcmHkdfSha512CommitKeyEcdsaP384SymsigHmacSha384"}[c.Suite]
	fmt.Fprintf(b, "// In an async function returning a Result, with sdk_config (aws_config::SdkConfig) and mpl (the material providers client).\n")
	fmt.Fprintf(b, "let key_store_config = KeyStoreConfig::builder()\n    .kms_client(aws_sdk_kms::Client::new(&sdk_config))\n    .ddb_client(aws_sdk_dynamodb::Client::new(&sdk_config))\n")
	fmt.Fprintf(b, "    .ddb_table_name(%s)\n    .logical_key_store_name(%s)\n", q(c.KeyStore.Table), q(c.KeyStore.Name))
	fmt.Fprintf(b, "    .kms_configuration(KmsConfiguration::KmsKeyArn(%s))\n    .build()?;\n", q(c.kmsKeyARN()))
	fmt.Fprintf(b, "let key_store = keystore_client::Client::from_conf(key_store_config)?;\n")
	fmt.Fprintf(b, "let keyring = mpl\n    .create_aws_kms_hierarchical_keyring()\n    .branch_key_id(%s)\n    .key_store(key_store.clone())\n    .ttl_seconds(%d)\n    .send()\n    .await?;\n", q(c.BranchKeyID), CacheTTLSeconds)
	fmt.Fprintf(b, "let attribute_actions_on_encrypt = HashMap::from([\n")
	for _, name := range c.attributes() {
		fmt.Fprintf(b, "    (%s, CryptoAction::%s),\n", q(name), variant[c.Actions[name]])
	}
	fmt.Fprintf(b, "]);\n")
	if len(c.Beacons) > 0 {
		fmt.Fprintf(b, "let beacon_version = BeaconVersion::builder()\n    .standard_beacons(vec![\n")
		for _, bc := range c.Beacons {
			fmt.Fprintf(b, "        StandardBeacon::builder().name(%s).length(%d).build()?, // index %s\n", q(bc.Name), bc.Length, rustQuote(bc.Index))
		}
		fmt.Fprintf(b, "    ])\n    .version(1)\n    .key_store(key_store.clone())\n")
		fmt.Fprintf(b, "    .key_source(BeaconKeySource::Single(\n        SingleKeyStore::builder().key_id(%s).cache_ttl(%d).build()?,\n    ))\n    .build()?;\n", q(c.BranchKeyID), CacheTTLSeconds)
	}
	fmt.Fprintf(b, "let table_config = DynamoDbTableEncryptionConfig::builder()\n    .logical_table_name(%s)\n    .partition_key_name(%s)\n", q(c.LogicalTableName), q(c.PartitionKey))
	if c.SortKey != "" {
		fmt.Fprintf(b, "    .sort_key_name(%s)\n", q(c.SortKey))
	}
	fmt.Fprintf(b, "    .attribute_actions_on_encrypt(attribute_actions_on_encrypt)\n")
	if len(c.AllowedUnsigned) > 0 {
		fmt.Fprintf(b, "    .allowed_unsigned_attributes(vec![%s])\n", list(c.AllowedUnsigned, q))
	}
	fmt.Fprintf(b, "    .algorithm_suite_id(DbeAlgorithmSuiteId::%s)\n    .keyring(keyring)\n", suite)
	if len(c.Beacons) > 0 {
		fmt.Fprintf(b, "    .search(\n        SearchConfig::builder()\n            .write_version(1)\n            .versions(vec![beacon_version])\n            .build()?,\n    )\n")
	}
	fmt.Fprintf(b, "    .build()?;\n")
	fmt.Fprintf(b, "let table_configs = DynamoDbTablesEncryptionConfig::builder()\n    .table_encryption_configs(HashMap::from([(%s, table_config)]))\n    .build()?;\n", q(c.TableName))
}}

func list(xs []string, q func(string) string) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = q(x)
	}
	return strings.Join(out, ", ")
}

// cQuote quotes s as a Java or C# string literal.
func cQuote(s string) string {
	return quoteWith(s, func(r rune) string { return fmt.Sprintf(`\u%04x`, r) })
}

// rustQuote quotes s as a Rust string literal.
func rustQuote(s string) string {
	return quoteWith(s, func(r rune) string { return fmt.Sprintf(`\u{%x}`, r) })
}

// quoteWith quotes s in double quotes, escaping quotes and backslashes
// with a backslash and control characters with escape; everything else is
// written as it is (the three languages read UTF-8 source).
func quoteWith(s string, escape func(rune) string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case unicode.IsControl(r):
			b.WriteString(escape(r))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
