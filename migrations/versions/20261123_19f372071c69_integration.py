"""Integration of surveys, complaints and churn: subject-bound survey invitations (one recovery
questionnaire per complaint, one exit questionnaire per loss) and the response a complaint's
recovery rating was read from.

Revision ID: 19f372071c69
Revises: 48a4bc28723d
Create Date: 2026-11-23 16:51:22.599010

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '19f372071c69'
down_revision = '48a4bc28723d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('complaint_ratings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_complaint_ratings_response_id_survey_responses'), 'survey_responses', ['response_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('survey_invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=20), server_default='', nullable=False))
        batch_op.add_column(sa.Column('subject_id', sa.Integer(), nullable=True))
        batch_op.alter_column('customer_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_survey_invitations_purpose'), ['purpose', 'subject_id'])



def downgrade():
    # invitations without a customer cannot survive the NOT NULL of the older schema
    op.execute("DELETE FROM survey_invitations WHERE customer_id IS NULL")
    with op.batch_alter_table('survey_invitations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_survey_invitations_purpose'), type_='unique')
        batch_op.alter_column('customer_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('subject_id')
        batch_op.drop_column('purpose')

    with op.batch_alter_table('complaint_ratings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_complaint_ratings_response_id_survey_responses'), type_='foreignkey')
        batch_op.drop_column('response_id')

