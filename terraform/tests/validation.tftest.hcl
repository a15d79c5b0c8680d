# Every provider configuration of the root module, aliases included, is
# mocked in every test file: an unmocked one would be the real provider.
mock_provider "kubernetes" {
  alias = "r0"
}
mock_provider "kubernetes" {
  alias = "r1"
}
mock_provider "kubernetes" {
  alias = "r2"
}
mock_provider "kubernetes" {
  alias = "r3"
}
mock_provider "kubernetes" {
  alias = "r4"
}
mock_provider "cloudflare" {}

# Three home regions hold the voters; two more regions replicate without
# voting. Test secrets only.
variables {
  image          = "registry.example.com/statusedge:1.4.0"
  operator_token = "test-operator-token-0123456789"
  cluster_secret = "test-cluster-secret-0123456789"
  edge_secret    = "test-edge-secret-0123456789ab"
  gossip_key     = "00112233445566778899aabbccddeeff"
  regions = [
    { name = "eu-west", kube_context = "gke-eu-west", role = "voter", geo = ["WEU", "EEU"] },
    { name = "us-east", kube_context = "eks-us-east", role = "voter", geo = ["ENAM"] },
    { name = "ap-south", kube_context = "gke-ap-south", role = "voter", geo = ["SAS", "SEAS"] },
    { name = "us-west", kube_context = "eks-us-west", role = "non-voter", origin_replicas = 2, geo = ["WNAM"] },
    { name = "sa-east", kube_context = "gke-sa-east", role = "non-voter", geo = ["NSAM", "SSAM"] },
  ]
}

# The variables' messages are checked word for word by terraform_test.go
# (TestRejectedVariables); these runs show the three the issue names are
# rejected by the whole configuration.

run "rejects_an_unknown_role" {
  command = plan
  variables {
    regions = [
      { name = "eu-west", kube_context = "gke-eu-west", role = "voter" },
      { name = "us-east", kube_context = "eks-us-east", role = "primary" },
      { name = "ap-south", kube_context = "gke-ap-south", role = "voter" },
    ]
  }
  expect_failures = [var.regions]
}

run "rejects_an_even_voter_count" {
  command = plan
  variables {
    regions = [
      { name = "eu-west", kube_context = "gke-eu-west", role = "voter", origin_replicas = 3 },
      { name = "us-east", kube_context = "eks-us-east", role = "voter" },
    ]
  }
  expect_failures = [var.regions]
}

run "rejects_a_region_without_a_context" {
  command = plan
  variables {
    regions = [
      { name = "eu-west", kube_context = "gke-eu-west", role = "voter" },
      { name = "us-east", role = "non-voter" },
    ]
  }
  expect_failures = [var.regions]
}
