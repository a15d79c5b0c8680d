package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/origin/client"
)

// Posting an incident (compiled, not run: it needs a running origin).
func Example() {
	ctx := context.Background()
	c, err := client.New(client.Config{BaseURL: "http://127.0.0.1:7080", Token: "the site's or the operator's token"})
	if err != nil {
		log.Fatal(err)
	}
	inc, err := c.CreateIncident(ctx, "acme", client.IncidentInput{
		Name:   client.Ptr("API errors"),
		Status: client.Ptr(content.Investigating),
		Impact: client.Ptr(content.ImpactMajor),
		Body:   client.Ptr("We are investigating elevated error rates."),
	})
	var apiErr *client.APIError
	switch {
	case errors.As(err, &apiErr): // refused: the field at fault is named
		log.Fatalf("%s: %s", apiErr.Field, apiErr.Message)
	case err != nil: // no answer: retrying with the same key is safe
		log.Fatal(err)
	}
	fmt.Println(inc.ID)
}
