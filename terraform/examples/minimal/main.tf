provider "aws" {
  region = var.region
}

module "signin_monitor" {
  source = "../.."

  slack_webhook_url = var.slack_webhook_url
}
