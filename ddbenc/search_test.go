package ddbenc_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// beaconOf is the beacon the fixture's email beacon gives a string.
func (f *fixture) beaconOf(t testing.TB, v string) string {
	t.Helper()
	st, err := f.cfg.Search.Key.Standard("email", f.cfg.Search.Beacons[0].Length)
	if err != nil {
		t.Fatal(err)
	}
	h, err := st.Hash([]byte(v))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestQueryTranslation checks what is sent for conditions on the
// searchable attribute, literal or through a placeholder, in key
// conditions and filters.
func TestQueryTranslation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, key, filter      string
		names                  map[string]string
		wantKey, wantFilter    string
		wantNames              map[string]string
		beaconValues, keptVals []string
	}{
		{name: "literal in key condition", key: "email = :e", wantKey: "aws_dbe_b_email = :e", beaconValues: []string{":e"}},
		{name: "placeholder", key: "#m = :e AND id = :i", names: map[string]string{"#m": "email"},
			wantKey: "#m = :e AND id = :i", wantNames: map[string]string{"#m": "aws_dbe_b_email"}, beaconValues: []string{":e"}, keptVals: []string{":i"}},
		{name: "value first, in filter", key: "id = :i", filter: ":e = email AND country = :c",
			wantKey: "id = :i", wantFilter: ":e = aws_dbe_b_email AND country = :c", beaconValues: []string{":e"}, keptVals: []string{":i", ":c"}},
		{name: "IN and OR of the searchable attribute", key: "id = :i", filter: "(email IN (:e, :f) OR  email = :g) AND u_x = :c",
			wantKey: "id = :i", wantFilter: "(aws_dbe_b_email IN (:e, :f) OR  aws_dbe_b_email = :g) AND u_x = :c",
			beaconValues: []string{":e", ":f", ":g"}, keptVals: []string{":i", ":c"}},
		{name: "no searchable attribute", key: "id = :i", filter: "country <> :c", wantKey: "id = :i", wantFilter: "country <> :c", keptVals: []string{":i", ":c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			vals := map[string]types.AttributeValue{":e": s("a@x"), ":f": s("b@x"), ":g": s("c@x"), ":i": s("c1"), ":c": s("NZ")}
			used := map[string]types.AttributeValue{}
			for _, v := range append(append([]string{}, tc.beaconValues...), tc.keptVals...) {
				used[v] = vals[v]
			}
			in := &dynamodb.QueryInput{TableName: aws.String("customers"), KeyConditionExpression: aws.String(tc.key),
				ExpressionAttributeNames: tc.names, ExpressionAttributeValues: used}
			if tc.filter != "" {
				in.FilterExpression = aws.String(tc.filter)
			}
			if _, err := f.client.Query(t.Context(), in); err != nil {
				t.Fatal(err)
			}
			sent := f.db.last.(*dynamodb.QueryInput)
			if str(sent.KeyConditionExpression) != tc.wantKey || str(sent.FilterExpression) != tc.wantFilter {
				t.Errorf("sent %q / %q, want %q / %q", str(sent.KeyConditionExpression), str(sent.FilterExpression), tc.wantKey, tc.wantFilter)
			}
			if tc.wantNames != nil && !reflect.DeepEqual(sent.ExpressionAttributeNames, tc.wantNames) {
				t.Errorf("names %v, want %v", sent.ExpressionAttributeNames, tc.wantNames)
			}
			for _, v := range tc.beaconValues {
				want := f.beaconOf(t, vals[v].(*types.AttributeValueMemberS).Value)
				if got := sent.ExpressionAttributeValues[v]; !reflect.DeepEqual(got, s(want)) {
					t.Errorf("%s sent as %v, want beacon %s", v, got, want)
				}
			}
			for _, v := range tc.keptVals {
				if !reflect.DeepEqual(sent.ExpressionAttributeValues[v], vals[v]) {
					t.Errorf("%s changed to %v", v, sent.ExpressionAttributeValues[v])
				}
			}
			if !reflect.DeepEqual(in.ExpressionAttributeValues, used) || !reflect.DeepEqual(in.ExpressionAttributeNames, tc.names) {
				t.Error("Query changed its input")
			}
		})
	}
}

// TestQueryReturnsExactMatches writes enough records that the 4-bit beacon
// collides, has the fake return every item, and checks that only exact
// matches come back, with Count updated, for Query and Scan.
func TestQueryReturnsExactMatches(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	const records = 40
	beacons := map[string][]string{}
	for i := range records {
		email := fmt.Sprintf("user%d@example.com", i)
		if _, err := f.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("customers"), Item: customer(fmt.Sprint(i), email)}); err != nil {
			t.Fatal(err)
		}
		h := f.beaconOf(t, email)
		beacons[h] = append(beacons[h], email)
	}
	collided := 0
	for i := range records {
		email := fmt.Sprintf("user%d@example.com", i)
		collided += len(beacons[f.beaconOf(t, email)]) - 1
		vals := map[string]types.AttributeValue{":e": s(email)}
		q, err := f.client.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("customers"), KeyConditionExpression: aws.String("email = :e"), ExpressionAttributeValues: vals})
		if err != nil {
			t.Fatal(err)
		}
		sc, err := f.client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("customers"), FilterExpression: aws.String("email IN (:e, :nobody)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":e": s(email), ":nobody": s("nobody")}})
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range [][]map[string]types.AttributeValue{q.Items, sc.Items} {
			if len(got) != 1 || !reflect.DeepEqual(got[0], customer(fmt.Sprint(i), email)) {
				t.Fatalf("%s: got %d items %v", email, len(got), got)
			}
		}
		if q.Count != 1 || sc.Count != 1 || sc.ScannedCount != records {
			t.Errorf("counts %d %d %d", q.Count, sc.Count, sc.ScannedCount)
		}
	}
	if collided == 0 {
		t.Fatal("no beacon collided: the test proves nothing")
	}
}

// TestQueryRefusals checks the uses of encrypted attributes in Query and
// Scan that cannot be made exact.
func TestQueryRefusals(t *testing.T) {
	t.Parallel()
	vals := map[string]types.AttributeValue{":e": s("a"), ":f": s("b"), ":n": n("1")}
	for _, tc := range []struct {
		name, key, filter string
		sel               types.Select
		want              string
	}{
		{name: "no beacon", key: "card = :e", want: `encrypted attribute "card", which has no standard beacon`},
		{name: "other operator", key: "id = :f", filter: "email > :e", want: `searchable attribute "email" can only be compared for equality`},
		{name: "not equal", filter: "email <> :e", want: "can only be compared for equality"},
		{name: "function", filter: "begins_with(email, :e)", want: "can only be compared for equality"},
		{name: "size", filter: "size(email) = :n", want: "can only be compared for equality"},
		{name: "nested path", filter: "email.x = :e", want: "can only be compared for equality"},
		{name: "between", filter: "email BETWEEN :e AND :f", want: "can only be compared for equality"},
		{name: "path to path", filter: "email = name", want: "can only be compared for equality"},
		{name: "not", filter: "NOT email = :e", want: `"email" is under NOT`},
		{name: "or with another attribute", filter: "email = :e OR country = :f", want: `attribute "country" is joined by OR`},
		{name: "value used twice", key: "id = :e", filter: "email = :e", want: "value :e is used both for searchable attribute"},
		{name: "undefined value", filter: "email = :zz", want: ":zz is not defined"},
		{name: "count over beacons", filter: "email = :e", sel: types.SelectCount, want: "Select COUNT"},
		{name: "partition", filter: "email = :e", want: "beacon partitions"},
		{name: "unreadable", filter: "email = = :e", want: "cannot read the filter expression"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			v := vals
			if tc.name == "partition" {
				v = map[string]types.AttributeValue{":e": s("a"), ":aws_dbe_partition": n("1")}
			}
			q := &dynamodb.QueryInput{TableName: aws.String("customers"), ExpressionAttributeValues: v, Select: tc.sel}
			sc := &dynamodb.ScanInput{TableName: aws.String("customers"), ExpressionAttributeValues: v, Select: tc.sel}
			if tc.key != "" {
				q.KeyConditionExpression = aws.String(tc.key)
			}
			if tc.filter != "" {
				q.FilterExpression, sc.FilterExpression = aws.String(tc.filter), aws.String(tc.filter)
			}
			_, err := f.client.Query(t.Context(), q)
			mustRefuse(t, f.db, 0, err, tc.want)
			if tc.key == "" {
				_, err = f.client.Scan(t.Context(), sc)
				mustRefuse(t, f.db, 0, err, tc.want)
			}
		})
	}
}

// TestCountWithoutBeacons checks that Select COUNT on signed attributes
// passes, with DynamoDB's count.
func TestCountWithoutBeacons(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, id := range []string{"a", "b"} {
		if _, err := f.client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String("customers"), Item: customer(id, id)}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := f.client.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String("customers"), Select: types.SelectCount})
	if err != nil || out.Count != 2 {
		t.Errorf("count = %d, %v", out.Count, err)
	}
}

// TestBeaconIsOfTheSerializedValue checks that a number is beaconed as its
// normalized text, so 1.50 written matches 1.5 asked for, and that the
// type still has to match after decryption.
func TestBeaconIsOfTheSerializedValue(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	it := customer("n", "")
	it["email"] = n("1.50")
	if _, err := f.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("customers"), Item: it}); err != nil {
		t.Fatal(err)
	}
	stored := f.db.raw("customers", key("n"))
	if got, want := stored["aws_dbe_b_email"], s(f.beaconOf(t, "1.5")); !reflect.DeepEqual(got, want) {
		t.Errorf("beacon %v, want %v", got, want)
	}
	for _, tc := range []struct {
		v    types.AttributeValue
		want int
	}{{n("1.5"), 1}, {n("+15e-1"), 1}, {s("1.5"), 0}, {n("2"), 0}} {
		out, err := f.client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("customers"), FilterExpression: aws.String("email = :e"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":e": tc.v}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Items) != tc.want {
			t.Errorf("%v: %d items, want %d", tc.v, len(out.Items), tc.want)
		}
	}
}
