package ddbav_test

import (
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/attr/ddbav"
)

func Example() {
	// An item as the AWS SDK returns it from GetItem.
	av := map[string]types.AttributeValue{
		"id":    &types.AttributeValueMemberS{Value: "customer-1"},
		"score": &types.AttributeValueMemberN{Value: "+4.50"},
	}
	it, err := ddbav.FromItem(av)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(it["id"], it["score"])

	back, err := ddbav.ToItem(it)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(back["score"].(*types.AttributeValueMemberN).Value)
	fmt.Println(attr.Equal(it["score"], attr.N("4.5")))
	// Output:
	// customer-1 4.5
	// 4.5
	// true
}
