"""Pages of the pushes app, one module per area: the train's pages (`pages`), an engineer's page
(`engineers`), the risk dashboard (`risk`), the push dashboard and test console (`dashboard`)."""
