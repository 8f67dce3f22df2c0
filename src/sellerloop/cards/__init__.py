"""sellerloop inside another CRM: the HubSpot app card's endpoint, and embed links for an iframe anywhere else."""
