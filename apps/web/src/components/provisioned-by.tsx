import { Link } from '@tanstack/react-router';
import { trpc } from '../trpc';

/** "Provisioned by": the SCIM connection that last created or changed the user, when one did. */
export function ProvisionedBy({ userId }: { userId: string }) {
  const connection = trpc.scim.connections.get.useQuery({ userId });
  if (!connection.data) return null;
  return (
    <div>
      <dt>Provisioned by</dt>
      <dd>
        <Link to="/security/provisioning">{connection.data.name}</Link>{' '}
        <span className="muted">(SCIM{connection.data.status === 'revoked' ? ', revoked' : ''})</span>
      </dd>
    </div>
  );
}
