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
  image          = "registry.example.com/statusedge@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
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

# Each bad value is planned on its own, and its message checked word for
# word, by terraform_test.go (TestRejectedVariables: variables.tf and
# checks.tf without the providers, a fraction of a second per case). Here,
# one run shows the whole configuration refusing them: an unknown role, an
# even voter count (2) and a region without a context.
run "rejects_bad_regions" {
  command = plan
  variables {
    regions = [
      { name = "eu-west", kube_context = "gke-eu-west", role = "voter" },
      { name = "us-east", kube_context = "eks-us-east", role = "primary" },
      { name = "ap-south", role = "voter" },
    ]
  }
  expect_failures = [var.regions]
}
